"""Long sample documents for the lessons to send: text written for this kit, long enough to cache.

A prompt is only cached above a per-model minimum (``min_cacheable_tokens`` in the
catalog: 512 tokens on the 5.5 models, 4,096 on Claude Haiku 4.5), so the prompt-caching
lesson needs a document well above the smaller minimums and below the largest one.
``GARDEN_HANDBOOK`` is about 1,100 words: roughly 1,500 to 2,500 tokens, depending on
the tokenizer.
"""

GARDEN_HANDBOOK = """\
# Linden Street Community Garden: members' handbook

## 1. Who we are

The Linden Street Community Garden is run by its members, for its members. The garden has 42 plots: 30 full plots of
6 by 4 metres, 8 half plots of 3 by 4 metres, and 4 raised beds at waist height, kept for members who garden from a
chair or cannot kneel. Around the plots are the shared spaces: the tool shed, the compost bays, the herb spiral, the
orchard strip along the north fence, the pond and the picnic lawn. A committee of seven members, elected each March
at the annual meeting, looks after the money, the waiting list and this handbook.

## 2. Joining and the waiting list

Anyone who lives or works within two kilometres of the garden may join the waiting list. Write to the membership
secretary with your name, your address and whether you would like a full plot, a half plot or a raised bed. Offers
are made in the order names were added, except that raised beds go first to those who need them. When a plot is
offered to you, you have fourteen days to accept it; after that the offer goes to the next person on the list.
A member may hold one plot only. Plots may be shared between two households, but one person signs the agreement and
answers for the plot.

## 3. Fees

The yearly fee is 60 for a full plot, 35 for a half plot and 25 for a raised bed, due on the first of April. Members
who receive a pension or a benefit pay half. The fee covers water, insurance, the shared tools and seeds for the
herb spiral. A member who joins after the first of October pays half the fee for that year. Fees are not refunded
when a member leaves, but a member who gives up a plot before the first of June may pass its fee on to the next
member, who then pays them back.

## 4. Looking after your plot

A plot must be cultivated: at least three quarters of it should be growing food, flowers or green manure from April
to October. Paths between plots are shared; keep the half of each path that borders your plot free of weeds and
clutter. Do not plant trees, bamboo, mint or horseradish directly in the ground, since their roots spread into the
plots around yours; grow mint and horseradish in containers. Sheds, greenhouses and polytunnels taller than 1.8
metres need the committee's written permission. Glass is not allowed anywhere in the garden; use polycarbonate.
Each plot is inspected on the first Saturday of May, July and September. A plot that is not cultivated gets a
friendly note first, a written warning four weeks later, and if nothing changes after another four weeks, the
committee may offer it to the next person on the waiting list.

## 5. Water

Water is precious and metered. Use the water butts first; each plot has one, filled from the shed roofs. The taps at
the main path are open from seven in the morning to nine in the evening. Hoses may only be used to fill watering
cans and butts, never to spray beds. Sprinklers are not allowed. In a hosepipe ban, the taps are locked and opened
by a committee member twice a day, at eight in the morning and at seven in the evening, for half an hour. Water in
the evening or early in the morning, when less of it evaporates, and water the roots rather than the leaves.

## 6. Compost and waste

The compost bays behind the shed take uncooked plant waste from the garden: weeds without seed heads, vegetable
trimmings, grass cuttings in thin layers, and shredded paper. They do not take cooked food, meat, dairy, diseased
plants, bindweed roots or couch grass. Put those in the green waste bin by the gate, which is emptied every other
Thursday. Turn the active bay when you add to it; a fork hangs on the bay's door for that. The finished bay is open
to every member from March, two wheelbarrow loads per plot per month. Bonfires are not allowed.

## 7. Tools and the shed

The tool shed opens with the same code as the main gate, which changes on the first of every month and is sent to
members by text message. The shared tools are: six spades, six forks, four hoes, four rakes, three wheelbarrows, two
loppers, one shredder and one petrol strimmer. Clean tools before you hang them back on their outline on the wall.
The shredder and the strimmer may only be used by members who have been shown how by a committee member, and never
alone. Book them on the board inside the shed door, for at most two hours at a time. Report a broken tool on the
board as well, and do not try to mend the machines yourself.

## 8. Chemicals and wildlife

The garden is organic. No weedkillers, no slug pellets and no chemical fertilisers, except those approved for
organic growing. Use beer traps, copper tape or evening torchlight patrols against slugs. The pond, the log piles
and the nettle patch by the orchard are left wild on purpose, for frogs, beetles and butterflies; please do not tidy
them. Bees are kept by two members on the orchard strip. Do not go past the rope around the hives, and tell a
beekeeper if a swarm settles anywhere in the garden.

## 9. Children, dogs and guests

Members may bring guests, and children are welcome with an adult who keeps an eye on them, especially near the pond
and the tools. Dogs must be kept on a lead and are not allowed on the plots of other members or on the picnic lawn.
Guests may not use the machines. The gate must be locked whenever you are the last to leave, even for a few minutes.

## 10. Working days and events

Every member gives at least six hours a year to the shared spaces: on the working days, held on the last Sunday of
each month from ten until one, or by arrangement with the committee. Working days fix the paths, turn the compost,
prune the orchard and clear the pond. The seed swap is held in February, the plant sale in May, and the harvest
lunch on the picnic lawn in September; every member may bring two guests to the lunch.

## 11. Disputes and leaving

If you disagree with another member about a path, a shadow or a spreading plant, talk to them first. If that does
not help, write to the committee, who will visit both plots within two weeks and decide. A member who wants to leave
should write to the membership secretary, leave the plot weeded and clear of rubbish, and take away any shed or
frame that the next member does not want. Keys and the shed's booking card go back to the secretary.
"""

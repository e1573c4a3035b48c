"""Lesson 11 graders, run the way a learner runs the exercise cells: lazy answers are refused, right ones pass."""

from __future__ import annotations

import pytest

from grading_support import last_hint_code
from helpers import DEFAULT_MODEL, catalog, check

LESSON = "11_images_and_documents.ipynb"
IMAGE, COST, PDF = "cell-35", "cell-37", "cell-39"

IMAGE_RIGHT = """png = sample_media.png(image_task.width, image_task.height, image_task.colour)
image = {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                     "data": base64.standard_b64encode(png).decode("ascii")}}
image_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, messages=[
    {"role": "user", "content": [image, {"type": "text", "text": "What colour is this?"}]}])
reply_text = "".join(b.text for b in image_reply.content if b.type == "text")"""


def test_the_exercise_cells_are_where_the_tests_expect(lesson):
    for cell_id, grader in ((IMAGE, "image_turn"), (COST, "image_cost"), (PDF, "pdf_turn")):
        assert f"check.lesson11.{grader}(" in "".join(lesson.cells[cell_id]["source"])


# 11.1 an image and a question in one turn

def test_image_right_answers_pass(learner):
    result = learner.answer(IMAGE, IMAGE_RIGHT)
    assert result.passed, result
    assert "drawn for this run" in result.message


def test_image_with_labels_and_another_encoder_passes(learner):
    result = learner.answer(IMAGE, """data = sample_media.png(image_task.width, image_task.height, image_task.colour)
turn = [{"type": "text", "text": "Image 1:"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": base64.b64encode(data).decode()}},
        {"type": "text", "text": "Describe image 1 in one sentence."}]
image_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=600, messages=[{"role": "user", "content": turn}])
parts = []
for block in image_reply.content:
    if block.type == "text":
        parts.append(block.text)
reply_text = "".join(parts)""")
    assert result.passed, result


def test_image_lesson_demo_is_refused(learner):
    result = learner.answer(IMAGE, "image_reply = seen\nreply_text = text_of(seen)")  # section 1's request
    assert not result.passed and "before this cell's" in result.message


def test_image_hand_built_message_is_refused(learner):
    result = learner.answer(IMAGE, """image_reply = anthropic.types.Message.model_construct(
    id="msg_01madeup", type="message", role="assistant", model=DEFAULT_MODEL, stop_reason="end_turn",
    content=[anthropic.types.TextBlock(type="text", text="A teal square.")],
    usage=anthropic.types.Usage(input_tokens=60, output_tokens=5))
reply_text = "A teal square.\"""")
    assert not result.passed and "usage log has no request" in result.message


def test_image_typed_in_size_and_colour_are_refused(learner):
    """A size and colour copied from an earlier run's printout (420 pixels is outside what a run draws)."""
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(
        "sample_media.png(image_task.width, image_task.height, image_task.colour)", 'sample_media.png(420, 300, "#808000")'))
    assert not result.passed and "this run drew" in result.message and "420 × 300" in result.message


def test_image_lesson_picture_is_refused(learner):
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(
        "png = sample_media.png(image_task.width, image_task.height, image_task.colour)", "png = square"))
    assert not result.passed and "this run drew" in result.message


def test_image_typed_reply_text_is_refused(learner):
    typed = IMAGE_RIGHT.replace(
        'reply_text = "".join(b.text for b in image_reply.content if b.type == "text")',
        'reply_text = "[offline] Image 1: PNG, 200 × 120 pixels, 40 input tokens"')
    result = learner.answer(IMAGE, typed)
    assert not result.passed and "text of the reply's text blocks" in result.message


def test_image_graders_reference_is_refused(learner):
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(
        'reply_text = "".join(b.text for b in image_reply.content if b.type == "text")',
        "reply_text = check.reply_text(image_reply)"))
    assert not result.passed and "PermissionError" in result.message


def test_image_after_the_question_is_named(learner):
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(
        '[image, {"type": "text", "text": "What colour is this?"}]', '[{"type": "text", "text": "What colour is this?"}, image]'))
    assert not result.passed and "image first, then the question" in result.message


def test_image_without_a_question_is_named(learner):
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(', {"type": "text", "text": "What colour is this?"}]', "]"))
    assert not result.passed and "no question" in result.message


def test_image_from_a_url_is_refused(learner):
    result = learner.answer(IMAGE, """image_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, messages=[
    {"role": "user", "content": [ant_photo, {"type": "text", "text": "What is this?"}]}])
reply_text = text_of(image_reply)""")
    assert not result.passed and "base64" in result.message


def test_image_reading_content_0_is_a_message_not_a_traceback(learner):
    """The default model's reply opens with a thinking block, which has no .text."""
    result = learner.answer(IMAGE, IMAGE_RIGHT.replace(
        'reply_text = "".join(b.text for b in image_reply.content if b.type == "text")',
        "reply_text = image_reply.content[0].text"))
    assert not result.passed and "AttributeError" in result.message


def test_image_unsolved(learner):
    result = learner.answer(IMAGE)
    assert not result.passed and "nothing to grade yet" in result.message


# 11.2 an image's token cost from its size

COST_RIGHT = """native = catalog.get(model)
ratio = min(1, native.image_max_edge / max(width, height), math.sqrt(native.image_max_pixels / (width * height)))
if ratio < 1:
    width, height = math.floor(width * ratio), math.floor(height * ratio)
return math.ceil(width / 28) * math.ceil(height / 28)"""


def test_cost_right_answers_pass(learner):
    result = learner.answer(COST, COST_RIGHT)
    assert result.passed, result
    assert "made no API call" in result.message


def test_cost_a_different_right_answer_passes(learner):
    result = learner.answer(COST, """entry = catalog.get(model)
edge, most = entry.image_max_edge, entry.image_max_pixels
scale = 1.0
if max(width, height) > edge:
    scale = edge / max(width, height)
if width * height * scale * scale > most:
    scale = (most / (width * height)) ** 0.5
w, h = int(width * scale), int(height * scale)
return -(-w // 28) * -(-h // 28)""")
    assert result.passed, result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_cost_right_answer_passes_on_other_draws(learner, seed):
    learner.answer(COST, COST_RIGHT)  # defines the function
    result = learner.run(f"check.lesson11.image_cost(estimate_image_tokens, seed={seed})")
    assert result.passed, result


@pytest.mark.parametrize("body, words", [
    ("return 1600", "Count the 28 × 28-pixel patches"),
    ("return math.ceil(width / 28) * math.ceil(height / 28)", "scale it down"),  # section 6's formula alone
    ("return round(width * height / 750)", "(width × height) / 750"),
    (COST_RIGHT.replace("catalog.get(model)", "catalog.get(DEFAULT_MODEL)"), "native size"),
    ("return {(200, 120): 40}.get((width, height), 4800)", "count_tokens says"),  # typed in from the lesson's output
    ("return None", "returned None"),
    ("return float('nan')", "Return a whole number"),
    ("return 40.5", "Return a whole number"),
])
def test_cost_lazy_or_partial_answers_are_refused(learner, body, words):
    result = learner.answer(COST, body)
    assert not result.passed and words in result.message, result


def test_cost_pasting_the_last_hint_is_refused(learner):
    """The last hint counts other tiles under another limit: pasted with the exercise's names, it is wrong."""
    steps = [last_hint_code("11.2", start) for start in ("ratio = ", "w, h = ", "tiles = ")]
    result = learner.answer(COST, "\n".join(["import math", "w, h = width, height", *steps, "return tiles"]))
    assert not result.passed and "count_tokens says" in result.message, result


def test_cost_wrapping_the_kits_own_arithmetic_is_refused(learner):
    result = learner.answer(COST, """from helpers.offline import media
return media.image_tokens(width, height, catalog.get(model).image_native)""")
    assert not result.passed and "kit's own image-token arithmetic" in result.message


def test_cost_the_kits_arithmetic_is_back_after_grading(learner):
    from helpers.offline import media

    learner.answer(COST, "raise RuntimeError('boom')")
    assert media.image_tokens.__name__ == "image_tokens" and media.scaled.__name__ == "scaled"
    assert media.image_tokens(56, 28, catalog.get(DEFAULT_MODEL).image_native) == 2


def test_cost_the_kits_function_itself_is_refused(learner):
    learner.run("from helpers.offline import media")
    result = learner.run("check.lesson11.image_cost(media.image_tokens)")
    assert not result.passed and "one of the kit's own functions" in result.message


def test_cost_asking_the_api_is_refused(learner):
    result = learner.answer(COST, """photo = image_block(sample_media.png(width, height))
return count([photo, question], model) - count([question], model)""")
    assert not result.passed
    assert "kit's own image-token arithmetic" in result.message or "called the API" in result.message


def test_cost_unsolved(learner):
    result = learner.answer(COST)
    assert not result.passed and "returned None" in result.message and "ratio" not in result.message


# 11.3 a PDF and a question, and what the PDF cost

PDF_RIGHT = """pdf = sample_media.pdf(pdf_task.pages, pdf_task.text)
document = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                           "data": base64.standard_b64encode(pdf).decode("ascii")}}
ask = {"type": "text", "text": "How many pages are there?"}
turns = [{"role": "user", "content": [document, ask]}]
pdf_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=400, messages=turns)
with_document = client.messages.count_tokens(model=DEFAULT_MODEL, messages=turns).input_tokens
without_document = client.messages.count_tokens(model=DEFAULT_MODEL, messages=[{"role": "user", "content": [ask]}]).input_tokens
document_tokens = with_document - without_document"""


def test_pdf_right_answers_pass(learner):
    result = learner.answer(PDF, PDF_RIGHT)
    assert result.passed, result
    assert "difference between your two count_tokens calls" in result.message


def test_pdf_with_a_title_a_system_prompt_and_string_content_passes(learner):
    result = learner.answer(PDF, """data = base64.b64encode(sample_media.pdf(text=pdf_task.text, pages=pdf_task.pages)).decode()
question = "What is on each page?"
turns = [{"role": "user", "content": [
    {"type": "document", "title": "Notes", "source": {"type": "base64", "media_type": "application/pdf", "data": data}},
    {"type": "text", "text": question}]}]
system = "Answer briefly."
pdf_reply = client.messages.create(model=DEFAULT_MODEL, max_tokens=500, system=system, messages=turns)
counted = [client.messages.count_tokens(model=DEFAULT_MODEL, system=system, messages=m).input_tokens
           for m in (turns, [{"role": "user", "content": question}])]
document_tokens = counted[0] - counted[1]""")
    assert result.passed, result


def test_pdf_lesson_demo_is_refused(learner):
    result = learner.answer(PDF, "pdf_reply = read\ndocument_tokens = pdf_cost")  # section 7's leaflet
    assert not result.passed and "before this cell's" in result.message


def test_pdf_hand_built_message_is_refused(learner):
    result = learner.answer(PDF, """pdf_reply = anthropic.types.Message.model_construct(
    id="msg_01madeup", type="message", role="assistant", model=DEFAULT_MODEL, stop_reason="end_turn",
    content=[anthropic.types.TextBlock(type="text", text="Three pages.")],
    usage=anthropic.types.Usage(input_tokens=4800, output_tokens=3))
document_tokens = 4800""")
    assert not result.passed and "usage log has no request" in result.message


def test_pdf_typed_in_cost_is_refused(learner):
    """The stored solution prints the cost a page; typed in as the whole document's cost, it is wrong."""
    result = learner.answer(PDF, PDF_RIGHT.replace(
        "document_tokens = with_document - without_document", "document_tokens = 1600"))
    assert not result.passed and "your two counts differ by" in result.message


def test_pdf_cost_computed_without_counting_is_refused(learner):
    """The kit's own per-page figure, with no count_tokens call."""
    body = PDF_RIGHT.split("with_document =")[0] + (
        "from helpers.offline import media\ndocument_tokens = pdf_task.pages * media.PDF_TOKENS_PER_PAGE")
    result = learner.answer(PDF, body)
    assert not result.passed and "no `count_tokens` call" in result.message


def test_pdf_counts_made_before_the_cell_are_refused(learner):
    """Counts from an earlier cell (the lesson's) are not this run's."""
    body = PDF_RIGHT.split("with_document =")[0] + "document_tokens = pdf_cost"
    result = learner.answer(PDF, body)
    assert not result.passed and "no `count_tokens` call" in result.message


def test_pdf_without_the_count_of_the_bare_turn_is_named(learner):
    result = learner.answer(PDF, PDF_RIGHT.replace(
        'messages=[{"role": "user", "content": [ask]}]', 'messages=[{"role": "user", "content": [ask, ask]}]'))
    assert not result.passed and "without the document block" in result.message


def test_pdf_fixed_document_is_refused(learner):
    """A one-page PDF, as if copied from elsewhere: a run draws 2 to 9 pages."""
    result = learner.answer(PDF, PDF_RIGHT.replace("sample_media.pdf(pdf_task.pages, pdf_task.text)",
                                                   "sample_media.pdf(1)"))
    assert not result.passed and "this run drew" in result.message


def test_pdf_without_this_runs_text_is_refused(learner):
    result = learner.answer(PDF, PDF_RIGHT.replace("sample_media.pdf(pdf_task.pages, pdf_task.text)",
                                                   "sample_media.pdf(pdf_task.pages)"))
    assert not result.passed and "do not show this run's text" in result.message


@pytest.mark.parametrize("constant", ["pdf_task.pages * 1600", "pdf_task.pages * round(pdf_cost / 3)"])
def test_pdf_cost_from_a_per_page_constant_is_refused(learner, constant):
    """The instructor's review: a page costs 1,600 tokens offline, the lesson printed. Now a page's text counts,
    and each run's text is drawn, so no per-page figure from the lesson is this run's cost."""
    result = learner.answer(PDF, PDF_RIGHT.replace("document_tokens = with_document - without_document",
                                                   f"document_tokens = {constant}"))
    assert not result.passed and "your two counts differ by" in result.message, result


def test_pdf_costs_vary_with_the_drawn_text():
    from helpers import sample_media
    from helpers.offline import tokens

    costs = set()
    for seed in range(12):
        task = check.lesson11.pdf_task(seed=seed)
        data = sample_media.pdf(task.pages, task.text)
        costs.add(tokens._pdf_tokens(data, tokens.NATIVE) / task.pages)
    assert len(costs) > 6


def test_pdf_question_first_is_named(learner):
    result = learner.answer(PDF, PDF_RIGHT.replace('"content": [document, ask]', '"content": [ask, document]'))
    assert not result.passed and "document block first" in result.message


def test_pdf_unsolved(learner):
    result = learner.answer(PDF)
    assert not result.passed and "nothing to grade yet" in result.message


def test_tasks_vary_between_runs():
    assert len({check.lesson11.image_task(seed=s) for s in range(30)}) > 20
    assert len({check.lesson11.pdf_task(seed=s).pages for s in range(60)}) == len(check.lesson11.PDF_PAGES)

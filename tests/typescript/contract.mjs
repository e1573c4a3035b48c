// The official TypeScript SDK (@anthropic-ai/sdk) against the kit's loopback server.
//
// Run by tests/test_typescript_sdk.py, which starts the server and passes, in the environment, its URL,
// the model ids from the kit's catalog and the error wordings the backend uses (helpers/offline/wording.py),
// so nothing here repeats a model id or a message. Prints one JSON object: check name -> {ok, detail}.

import Anthropic from "@anthropic-ai/sdk";

const env = process.env;
const expected = JSON.parse(env.KIT_EXPECTED);
const client = new Anthropic({ apiKey: "kit-typescript-test-key", baseURL: env.KIT_BASE_URL, maxRetries: 0 });
const results = {};

async function check(name, body) {
  try {
    const detail = await body();
    results[name] = { ok: true, detail: detail ?? "" };
  } catch (error) {
    results[name] = { ok: false, detail: `${error?.name ?? "Error"}: ${error?.message ?? error}` };
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

const textOf = (message) => message.content.filter((b) => b.type === "text").map((b) => b.text).join("");

// The source guide's TypeScript example, with today's default model instead of a retired one. Its last line,
// console.log(message.content[0].text), prints undefined now: the reply opens with a thinking block.
await check("guide_example_reads_the_text_by_type", async () => {
  const message = await client.messages.create({
    model: env.KIT_DEFAULT_MODEL,
    max_tokens: 1024,
    messages: [{ role: "user", content: "Hello, Claude" }],
  });
  assert(message.content[0].type === "thinking", `first block is ${message.content[0].type}`);
  assert(message.content[0].text === undefined, "content[0].text should be undefined on a thinking block");
  assert(message.content[0].thinking === "" && message.content[0].signature.length > 0, "omitted thinking, signed");
  assert(textOf(message).length > 0, "a text block follows");
  assert(message.usage.output_tokens_details.thinking_tokens > 0, "thinking tokens are reported");
  assert(message.usage.inference_geo === "not_available", `inference_geo ${message.usage.inference_geo}`);
  assert(/^req_/.test(message._request_id), `request id ${message._request_id}`);
  return textOf(message);
});

await check("stream_sends_the_thinking_block_first", async () => {
  const stream = client.messages.stream({
    model: env.KIT_DEFAULT_MODEL,
    max_tokens: 1024,
    messages: [{ role: "user", content: "Hello, Claude" }],
  });
  const events = [];
  let text = "";
  stream.on("streamEvent", (event) => events.push(event));
  stream.on("text", (piece) => { text += piece; });
  const final = await stream.finalMessage();
  const starts = events.filter((e) => e.type === "content_block_start").map((e) => e.content_block.type);
  assert(JSON.stringify(starts) === JSON.stringify(["thinking", "text"]), `blocks ${starts}`);
  const deltas = events.filter((e) => e.type === "content_block_delta").map((e) => e.delta.type);
  assert(deltas[0] === "signature_delta" && !deltas.includes("thinking_delta"), `deltas ${deltas}`);
  assert(final.content[0].signature.length > 0 && text === textOf(final), "final message matches the stream");
  return deltas.join(",");
});

await check("summarized_thinking_streams_thinking_deltas", async () => {
  const stream = client.messages.stream({
    model: env.KIT_DEFAULT_MODEL,
    max_tokens: 1024,
    thinking: { type: "adaptive", display: "summarized" },
    messages: [{ role: "user", content: "Hello, Claude" }],
  });
  let thinking = "";
  stream.on("thinking", (delta) => { thinking += delta; });
  const final = await stream.finalMessage();
  assert(thinking.length > 0 && thinking === final.content[0].thinking, `thinking ${JSON.stringify(thinking)}`);
  return thinking;
});

await check("thinking_blocks_go_back_in_the_next_turn", async () => {
  const question = { role: "user", content: "Hello, Claude" };
  const first = await client.messages.create({ model: env.KIT_DEFAULT_MODEL, max_tokens: 1024, messages: [question] });
  const next = await client.messages.create({
    model: env.KIT_DEFAULT_MODEL,
    max_tokens: 1024,
    messages: [question, { role: "assistant", content: first.content }, { role: "user", content: "And again?" }],
  });
  assert(next.stop_reason === "end_turn", `stop_reason ${next.stop_reason}`);
  return next.stop_reason;
});

await check("unknown_model_is_a_not_found_error", async () => {
  try {
    await client.messages.create({ model: env.KIT_UNKNOWN_MODEL, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] });
  } catch (error) {
    assert(error instanceof Anthropic.NotFoundError, `class ${error.constructor.name}`);
    assert(error.status === 404 && error.error.error.type === "not_found_error", `status ${error.status}`);
    assert(error.error.error.message === expected.model_not_found, error.error.error.message);
    assert(/^req_/.test(error.requestID), `request id ${error.requestID}`);
    return error.constructor.name;
  }
  throw new Error("no error");
});

await check("prefill_is_a_bad_request_error", async () => {
  try {
    await client.messages.create({
      model: env.KIT_DEFAULT_MODEL,
      max_tokens: 16,
      messages: [{ role: "user", content: "Name a colour." }, { role: "assistant", content: "The colour is" }],
    });
  } catch (error) {
    assert(error instanceof Anthropic.BadRequestError, `class ${error.constructor.name}`);
    assert(error.error.error.message === expected.no_prefill, error.error.error.message);
    return error.constructor.name;
  }
  throw new Error("no error");
});

await check("forced_tool_use_is_refused_where_the_catalog_says", async () => {
  const tool = { name: "get_weather", input_schema: { type: "object", properties: { city: { type: "string" } } } };
  try {
    await client.messages.create({
      model: env.KIT_NO_FORCED_TOOL_MODEL,
      max_tokens: 256,
      tools: [tool],
      tool_choice: { type: "any" },
      messages: [{ role: "user", content: "What's the weather in Paris?" }],
    });
  } catch (error) {
    assert(error instanceof Anthropic.BadRequestError, `class ${error.constructor.name}`);
    assert(error.error.error.message === expected.forced_tool_use_unsupported, error.error.error.message);
    return error.constructor.name;
  }
  throw new Error("no error");
});

await check("model_info_has_capabilities", async () => {
  const info = await client.models.retrieve(env.KIT_DEFAULT_MODEL);
  const types = info.capabilities.thinking.types;
  const accepted = Object.keys(types).filter((t) => types[t].supported).sort();
  assert(JSON.stringify(accepted) === env.KIT_DEFAULT_THINKING_TYPES, `accepted ${accepted}`);
  return accepted.join(",");
});

// The Message Batches API: create, poll until it ends (the kit's batches take seconds), read the results by
// custom_id, then delete the batch.
await check("a_batch_ends_and_its_results_match_by_custom_id", async () => {
  const request = (id, model) => ({
    custom_id: id, params: { model, max_tokens: 64, messages: [{ role: "user", content: "Say hello." }] },
  });
  let batch = await client.messages.batches.create({
    requests: [request("ok", env.KIT_DEFAULT_MODEL), request("missing", env.KIT_UNKNOWN_MODEL)],
  });
  assert(batch.processing_status === "in_progress" && batch.results_url === null, batch.processing_status);
  for (let tries = 0; batch.processing_status !== "ended" && tries < 100; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    batch = await client.messages.batches.retrieve(batch.id);
  }
  assert(batch.processing_status === "ended", "the batch never ended");
  assert(batch.request_counts.succeeded === 1 && batch.request_counts.errored === 1, JSON.stringify(batch.request_counts));
  const found = {};
  for await (const line of await client.messages.batches.results(batch.id)) found[line.custom_id] = line.result;
  assert(found.ok.type === "succeeded" && textOf(found.ok.message).length > 0, JSON.stringify(found.ok));
  assert(found.missing.type === "errored" && found.missing.error.error.type === "not_found_error",
    JSON.stringify(found.missing));
  const deleted = await client.messages.batches.delete(batch.id);
  assert(deleted.type === "message_batch_deleted" && deleted.id === batch.id, JSON.stringify(deleted));
  return batch.id;
});

console.log(JSON.stringify(results));

"""The API's error wordings, in one table.

Three kinds of entries: wordings confirmed by many logs of the real API; wordings
quoted from real API responses in one or two public reports (named above each);
and UNCONFIRMED ones, the kit's best guess where neither the docs nor any log give
the words (the docs often say only "returns a 400"). Change them here when better
evidence appears. ``{}`` fields are filled by the caller.
"""

WORDING = {
    # confirmed by many logs of the real API
    "field_required": "{field}: Field required",
    "extra_input": "{field}: Extra inputs are not permitted",
    "max_tokens_too_large": (
        "max_tokens: {value} > {limit}, which is the maximum allowed number of output tokens for {model}"
    ),
    "prompt_too_long": "prompt is too long: {tokens} tokens > {limit} maximum",
    "non_empty_content": (
        "messages.{index}: all messages must have non-empty content except for the optional final assistant message"
    ),
    "empty_text_block": "messages: text content blocks must be non-empty",
    "trailing_whitespace": "messages: final assistant content cannot end with trailing whitespace",
    "no_prefill": (
        "This model does not support assistant message prefill. The conversation must end with a user message."
    ),
    "model_not_found": "model: {model}",
    "version_required": "anthropic-version: header is required",
    "tool_use_without_result": (
        "messages.{index}: `tool_use` ids were found without `tool_result` blocks immediately after: {ids}. "
        "Each `tool_use` block must have a corresponding `tool_result` block in the next message."
    ),
    "tool_result_without_use": (
        "messages.{index}.content.{block}: unexpected `tool_use_id` found in `tool_result` blocks: {id}. "
        "Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
    ),
    "temperature_deprecated": "`temperature` is deprecated for this model.",
    "temperature_and_top_p": "`temperature` and `top_p` cannot both be specified for this model. Please use only one.",
    "overloaded": "Overloaded",
    "tools_required": "Requests which include `tool_use` or `tool_result` blocks must define tools.",
    "cache_control_limit": "A maximum of 4 blocks with cache_control may be provided. Found {found}.",
    # quoted from real API responses in one or two public reports, named above each entry
    # image errors: anthropics/claude-code#8184 and vybestack/llxprt-code#2130 (real API responses quoted)
    "image_type_mismatch": (
        "{field}: The image was specified using the {declared} media type, but the image appears to be a {actual} image"
    ),
    # modelcontextprotocol/modelcontextprotocol#1345 (a real API response quoted)
    "tool_name_pattern": "{field}: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'",
    # github.com/mastra-ai/mastra/issues/7507, can1357/oh-my-pi#341; the extended thinking docs: "Thinking isn't
    # compatible with ... forced tool use"
    "thinking_forced_tool": "Thinking may not be enabled when tool_choice forces tool use.",
    # n8n-io/n8n#22550, OpenRouterTeam/ai-sdk-provider#162 (real API responses quoted, the API's own spelling kept)
    "thinking_first_block": (
        "messages.{index}.content.0.type: Expected `thinking` or `redacted_thinking`, but found `{found}`. "
        "When `thinking` is enabled, a final `assistant` message must start with a thinking block (preceeding the "
        "lastmost set of `tool_use` and `tool_result` blocks). We recommend you include thinking blocks from previous "
        "turns. To avoid this requirement, disable `thinking`. Please consult our documentation at "
        "https://docs.claude.com/en/docs/build-with-claude/extended-thinking"
    ),
    # tailcallhq/forgecode#1195 and #1853 (real API responses quoted)
    "thinking_in_final_turn": (
        "messages.{index}.content.{block}: When thinking is disabled, an `assistant` message in the final position "
        "cannot contain `thinking`. To use thinking blocks, enable `thinking` in your request."
    ),
    # acoyfellow/my-ax#89 (a real API response quoted)
    # image limits: anthropics/claude-code#5147 (8000 pixels), #52220 (many-image requests); the 5 MB error is
    # quoted from real responses in several public projects ("...base64: image exceeds 5 MB maximum: 6096280 bytes >
    # 5242880 bytes"); "A maximum of 100 PDF pages may be provided." likewise
    "image_too_many_bytes": "{field}: image exceeds 5 MB maximum: {size} bytes > {limit} bytes",
    "image_too_wide": "{field}.data: At least one of the image dimensions exceed max allowed size: {limit} pixels",
    "image_too_wide_many": (
        "{field}.data: At least one of the image dimensions exceed max allowed size for many-image requests: {limit} pixels"
    ),
    "pdf_too_many_pages": "A maximum of {limit} PDF pages may be provided.",
    "image_invalid": (
        "The image data you provided does not represent a valid image. Please check your input and try again with "
        "one of the supported image formats: ['image/jpeg', 'image/png', 'image/gif', 'image/webp']."
    ),
    # from third-party logs: github community #198817 (enabled), docker/docker-agent#3362 (adaptive), and
    # apidog.com's guide to preserved thinking on Fable 5.1 (thinking blocks bound to another conversation)
    "thinking_enabled_unsupported": (
        '"thinking.type.enabled" is not supported for this model. '
        'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
    ),
    "thinking_adaptive_unsupported": "adaptive thinking is not supported on this model",
    "thinking_signature_invalid": "messages.{index}.content.{block}: Invalid `signature` in `thinking` block.",
    "thinking_bound_elsewhere": (
        "messages.{index}.content.{block}: Invalid `signature` in `thinking` block. The block is bound to a different "
        "conversation. Remove the block, or set `thinking.block_binding.prefix_mismatch_behavior` to \"drop_block\". "
        "That setting requires the `thinking-binding-controls-2026-08-01` value in the `anthropic-beta` header."
    ),
    # UNCONFIRMED: pydantic-style wordings the API is believed to use
    "wrong_type": "{field}: Input should be a valid {kind}",
    "too_small": "{field}: Input should be greater than or equal to {limit}",
    "too_large": "{field}: Input should be less than or equal to {limit}",
    "bad_literal": "{field}: Input should be {options}",
    "bad_block_type": (
        "{field}: Input tag '{tag}' found using 'type' does not match any of the expected tags: {options}"
    ),
    "messages_empty": "messages: at least one message is required",
    "too_many_messages": "messages: too many messages; the limit is {limit}",
    "invalid_json": "There was an error parsing the body of your request as JSON. Check that it is a valid JSON object.",
    "system_role_unsupported": "messages.{index}.role: 'system' messages are not supported for this model",
    "document_in_assistant": "messages.{index}.content.{block}: document blocks are not allowed in assistant messages",
    "citations_in_user_text": "messages.{index}.content.{block}.citations: citations are not allowed in user text blocks",
    "blank_stop_sequence": "stop_sequences: each stop sequence must contain non-whitespace",
    "unknown_tool_choice": "tool_choice.name: tool '{name}' was not found in tools",
    "thinking_budget": "thinking.budget_tokens: must be at least 1024 and less than max_tokens",
    # UNCONFIRMED: the docs say these are 400s but quote no message
    # (thinking-troubleshooting; whats-new-sonnet-5-5: disabled "returns a 400 ... that points you to between_tools",
    # between_tools at xhigh or max, forced tool use; the effort page: levels per model)
    "thinking_type_unsupported": '"thinking.type.{type}" is not supported for this model.{hint}',
    "thinking_hint_off_type": ' Use "thinking.type.{off_type}" to turn off up-front thinking on this model.',
    "thinking_hint_always_on": ' Thinking is always on for this model: use "output_config.effort" to control it.',
    "thinking_off_effort": (
        'output_config.effort: "{effort}" is not supported with "thinking.type.{type}" on this model. '
        "Use {allowed}, or adaptive thinking (omit `thinking`) for higher effort."
    ),
    "effort_unsupported": "output_config.effort: effort is not supported for this model",
    "effort_level_unsupported": "output_config.effort: '{effort}' is not supported for this model. Use {allowed}.",
    # UNCONFIRMED: the fast mode pages say which models serve speed "fast" and which need the beta header,
    # but quote no refusal (code.claude.com/docs/en/fast-mode: "the API rejects your requests")
    "fast_mode_unsupported": 'speed: "fast" is not supported for {model}. Use "standard", or a model that supports fast mode.',
    "fast_mode_beta_required": (
        'speed: "fast" on {model} requires the `{beta}` value in the `anthropic-beta` header.'
    ),
    # UNCONFIRMED: the SDK CHANGELOGs (TypeScript 1.17, Python 2.17) say the API rejects this schema, not how
    "all_of_ref_descriptions": (
        "{field}: members give property '{name}' the same $ref with different descriptions. "
        "Use the same description in each member."
    ),
    "too_many_images": "Too many images in this request: {found} > {limit}.",
    "cache_ttl_order": (
        "cache_control: a breakpoint with ttl '1h' must not come after one with ttl '5m' "
        "(tools, then system, then messages)."
    ),
    "pdf_invalid": "{field}.data: The PDF specified was not valid.",
    "forced_tool_use_unsupported": (
        "tool_choice.type: forced tool use ('any' or 'tool') is not supported for this model. "
        "Use 'auto' and say in the prompt which tool to call."
    ),
    "missing_key": "x-api-key header is required",
    "invalid_key": "invalid x-api-key",
    "not_found_route": "Not found",
    "method_not_allowed": "Method not allowed",
    "version_unknown": "anthropic-version: unknown version '{version}'",
    "rate_limited": (
        "This request would exceed your organization's rate limit. "
        "See the response headers for current usage and try again later."
    ),
    "api_error": "Internal server error",
    "timeout_error": "Request timed out",
    "authentication_error": "invalid x-api-key",
    "permission_error": "Your API key does not have permission to use the specified resource.",
    "billing_error": "Your credit balance is too low to access the Anthropic API.",
    # UNCONFIRMED: the 413 sent for a body over 32 MB, as third-party pages quote it; the errors page
    # (https://platform.claude.com/docs/en/api/errors) describes request_too_large in the same words
    "request_too_large": "Request exceeds the maximum allowed number of bytes.",
    # Message Batches: quoted in anthropics/anthropic-sdk-python#984 (a real 400)
    "batch_custom_id_long": "{field}: String should have at most {limit} characters",
    # UNCONFIRMED: the batch-processing page says these are refused, without the words
    "batch_custom_id_pattern": "{field}: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'",
    "batch_custom_id_repeated": "requests: custom_id '{custom_id}' is used more than once; each must be unique",
    "batch_empty": "requests: List should have at least 1 item after validation, not 0",
    "batch_too_many": "requests: List should have at most {limit} items",
    "batch_stream": "{field}: streaming is not supported in a Message Batch",
    "batch_max_tokens_zero": "{field}: max_tokens must be at least 1 in a Message Batch",
    "batch_not_found": "message_batch_id: no Message Batch '{batch_id}' was found",
    "batch_delete_in_progress": ("Message Batch {batch_id} is still processing and cannot be deleted; cancel it "
                                 "first, or wait until it has ended."),
    "batch_results_not_ready": "Message Batch {batch_id} has not finished processing: its results are not ready yet.",
    # Citations. UNCONFIRMED: the citations page says "citations must be enabled on all or none of the documents
    # within a request", and the structured outputs page that citations with a format give a 400, without the words
    "citations_mixed": "Citations must be enabled on all or none of the {sources} in a request.",
    "citations_with_structured_output": ("Citations cannot be used with structured outputs (output_config.format): "
                                         "turn citations off, or drop the format."),
    # Files API. UNCONFIRMED: the files page names these errors and their statuses, not their words
    "files_not_multipart": "The request body must be multipart/form-data with the file in a part named 'file'.",
    "files_too_large": "File too large: a file may be at most {limit}.",
    "files_bad_filename": ("Invalid filename: a filename has 1 to {limit} characters and none of < > : \" | ? * \\ / "
                           "or control characters."),
    "files_expires_range": "expires_in_seconds: must be between {low} and {high}",
    "files_quota": ("Storage limit exceeded: the kit's offline backend keeps at most {files} files and {size} in "
                    "memory. Delete files you no longer need (client.files.delete) and upload again."),
    "files_ids_exclusive": "ids: cannot be combined with page or limit",
    "files_too_many_ids": "ids: at most {limit} ids may be given",
    "files_bad_page": "page: '{page}' is not a valid page cursor",
    "file_not_found": "File not found: {file_id}",
    "file_expired": "File {file_id} has expired: its content is no longer available.",
    "file_not_downloadable": ("File {file_id} cannot be downloaded: only files created by skills or the code "
                              "execution tool can be; files you uploaded cannot."),
    "file_wrong_type": ("{field}: invalid file type: file {file_id} is {mime}, which a {block} block cannot hold "
                        "(documents: application/pdf or text/plain; images: image/jpeg, image/png, image/gif or "
                        "image/webp)."),
}


def say(key: str, **fields: object) -> str:
    return WORDING[key].format(**fields)

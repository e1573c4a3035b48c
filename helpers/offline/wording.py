"""The API's error wordings, in one table.

Entries marked UNCONFIRMED come from third-party logs or are the kit's best guess;
change them here when better evidence appears. ``{}`` fields are filled by the caller.
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
    "thinking_enabled_unsupported": (
        '"thinking.type.enabled" is not supported for this model. '
        'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'
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
}


def say(key: str, **fields: object) -> str:
    return WORDING[key].format(**fields)

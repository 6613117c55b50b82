"""`ambientctl mcp`: ambientctl's answers as Model Context Protocol tools, so an AI assistant asks "why is
notsleep denied?" and gets the deciding policy and rule instead of guessing from YAML (docs/mcp.md).

`tools` is the tool table (schemas and the CLI functions each tool calls; no SDK import), `server` the stdio
glue over the official `mcp` SDK, an optional dependency (`pip install 'ambientctl[mcp]'`)."""

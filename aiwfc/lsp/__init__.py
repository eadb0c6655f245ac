"""The language server behind `aiwfc lsp`: live diagnostics and navigation in editors.

Modules: `convert` (1-based spans to LSP's 0-based ranges, diagnostics), `index`
(definitions and references of names across a root file and its imports), `cursor`
(what the text around the cursor is), `hover`, `completion`, `symbols`, `actions`,
`server` (the pygls server, documents, debouncing), `incremental` (the parser that
re-reads only what an edit touched).
"""

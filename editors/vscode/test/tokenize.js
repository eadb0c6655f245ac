#!/usr/bin/env node
// Runs syntaxes/aiwf.tmLanguage.json through the same engine VS Code uses
// (vscode-textmate + the Oniguruma regex library compiled to WebAssembly) and prints
// the tokens of .aiwf files as JSON, for tests/test_vscode_extension.py.
//
//   node test/tokenize.js FILE.aiwf...      (or one text on stdin)
//
// Output: {"regexes": N, "files": [{"path": ..., "endStackDepth": D,
//          "lines": [[{"text": ..., "scopes": [...]}, ...], ...]}, ...]}
// endStackDepth is 1 when every region (string, interpolation, type...) opened in the
// file was closed again.
// Before tokenising, every regex in the grammar is compiled on its own, so that a bad
// pattern in a rule the sample never reaches still fails.  Exits 1 on any error.

"use strict";

const fs = require("fs");
const path = require("path");
const vsctm = require("vscode-textmate");
const oniguruma = require("vscode-oniguruma");

const GRAMMAR = path.join(__dirname, "..", "syntaxes", "aiwf.tmLanguage.json");

async function loadOniguruma() {
  const wasm = fs.readFileSync(require.resolve("vscode-oniguruma/release/onig.wasm"));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  return {
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  };
}

/** Compiles every match/begin/end/while regex; throws naming the first bad one. */
function checkRegexes(node, where, onig) {
  let count = 0;
  if (Array.isArray(node)) {
    node.forEach((child, i) => {
      count += checkRegexes(child, `${where}[${i}]`, onig);
    });
  } else if (node && typeof node === "object") {
    for (const [key, value] of Object.entries(node)) {
      if (["match", "begin", "end", "while"].includes(key) && typeof value === "string") {
        try {
          onig.createOnigScanner([value]).dispose();
        } catch (err) {
          throw new Error(`${where}.${key}: bad regex ${JSON.stringify(value)}: ${err.message || err}`);
        }
        count += 1;
      } else {
        count += checkRegexes(value, `${where}.${key}`, onig);
      }
    }
  }
  return count;
}

/** Tokenises one text line by line, carrying the rule stack across lines. */
function tokenizeText(grammar, text) {
  const lines = [];
  let stack = vsctm.INITIAL;
  for (const line of text.split(/\r?\n/)) {
    const result = grammar.tokenizeLine(line, stack);
    lines.push(
      result.tokens.map((t) => ({
        text: line.substring(t.startIndex, t.endIndex),
        scopes: t.scopes,
      })),
    );
    stack = result.ruleStack;
  }
  let depth = 0;
  for (let s = stack; s; s = s.parent) {
    depth += 1;
  }
  return { lines, endStackDepth: depth };
}

async function main() {
  const paths = process.argv.slice(2);
  const inputs = paths.length
    ? paths.map((p) => ({ path: p, text: fs.readFileSync(p, "utf8") }))
    : [{ path: "-", text: fs.readFileSync(0, "utf8") }];
  const grammarText = fs.readFileSync(GRAMMAR, "utf8");
  const onig = await loadOniguruma();
  const regexes = checkRegexes(JSON.parse(grammarText), "grammar", onig);

  const registry = new vsctm.Registry({
    onigLib: Promise.resolve(onig),
    loadGrammar: async (scopeName) =>
      scopeName === "source.aiwf" ? vsctm.parseRawGrammar(grammarText, GRAMMAR) : null,
  });
  const grammar = await registry.loadGrammar("source.aiwf");
  if (!grammar) {
    throw new Error("grammar source.aiwf did not load");
  }
  const files = inputs.map(({ path: p, text }) => ({ path: p, ...tokenizeText(grammar, text) }));
  process.stdout.write(JSON.stringify({ regexes, files }) + "\n");
}

main().catch((err) => {
  process.stderr.write(`tokenize.js: ${err.stack || err}\n`);
  process.exit(1);
});

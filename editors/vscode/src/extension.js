// The aiwf extension: syntax highlighting comes from the TextMate grammar declared in
// package.json; everything else (diagnostics, hovers, completion, formatting...) comes
// from the language server that `aiwfc lsp` runs over stdio.  This file only starts
// that server, restarts it when its settings change, and says clearly when `aiwfc`
// cannot be found.
//
// Plain JavaScript on purpose: esbuild bundles it with vscode-languageclient into
// dist/extension.js, so there is no TypeScript compile step.

"use strict";

const os = require("os");
const path = require("path");
const vscode = require("vscode");
const { LanguageClient, TransportKind } = require("vscode-languageclient/node");

const CLIENT_ID = "aiwf";
const CLIENT_NAME = "aiwf Language Server";

/** @type {LanguageClient | undefined} */
let client;
/** @type {vscode.OutputChannel | undefined} */
let outputChannel;

/**
 * Expands `~` and `${workspaceFolder}` in a configured path, so that a setting such as
 * `${workspaceFolder}/.venv/bin/aiwfc` works in a shared .vscode/settings.json.
 * @param {string} value
 * @returns {string}
 */
function expandPath(value) {
  let out = value.trim();
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  if (folder) {
    out = out.split("${workspaceFolder}").join(folder);
  }
  if (out === "~" || out.startsWith("~/")) {
    out = path.join(os.homedir(), out.slice(1));
  }
  return out;
}

/**
 * Reads `aiwf.server.path` and `aiwf.server.args`.
 * @returns {{ command: string, args: string[] }}
 */
function serverCommand() {
  const config = vscode.workspace.getConfiguration("aiwf");
  const command = expandPath(config.get("server.path", "aiwfc") || "aiwfc");
  const args = config.get("server.args", ["lsp"]);
  return { command, args: Array.isArray(args) ? args.map(String) : ["lsp"] };
}

/**
 * Creates and starts the language client; reports a missing `aiwfc` with a way out.
 * @returns {Promise<void>}
 */
async function startClient() {
  const { command, args } = serverCommand();
  const run = { command, args, transport: TransportKind.stdio };
  /** @type {import("vscode-languageclient/node").ServerOptions} */
  const serverOptions = { run, debug: run };
  /** @type {import("vscode-languageclient/node").LanguageClientOptions} */
  const clientOptions = {
    documentSelector: [
      { scheme: "file", language: "aiwf" },
      { scheme: "untitled", language: "aiwf" },
    ],
    synchronize: {
      // imports of local .aiwf files: the server re-checks dependants when one changes
      fileEvents: vscode.workspace.createFileSystemWatcher("**/*.aiwf"),
    },
    outputChannel,
    traceOutputChannel: outputChannel,
  };
  client = new LanguageClient(CLIENT_ID, CLIENT_NAME, serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    const failed = client;
    client = undefined;
    try {
      await failed.dispose();
    } catch {
      // the server never started; nothing to stop
    }
    const detail = err instanceof Error ? err.message : String(err);
    outputChannel?.appendLine(`Could not start \`${command} ${args.join(" ")}\`: ${detail}`);
    // not awaited: activation must not wait for the user to dismiss the notification
    vscode.window
      .showErrorMessage(
        `aiwf: could not start the language server \`${command} ${args.join(" ")}\`. ` +
          "Install it with `pip install 'aiwfc[lsp]'` or set `aiwf.server.path`.",
        "Open Settings",
        "Show Log",
      )
      .then((choice) => {
        if (choice === "Open Settings") {
          vscode.commands.executeCommand("workbench.action.openSettings", "aiwf.server");
        } else if (choice === "Show Log") {
          outputChannel?.show(true);
        }
      });
  }
}

/** Stops the running client, if any. */
async function stopClient() {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

/** Restarts the server, e.g. after `pip install -U aiwfc` or a settings change. */
async function restartClient() {
  await stopClient();
  await startClient();
}

/**
 * Called by VS Code when the first .aiwf file opens.
 * @param {vscode.ExtensionContext} context
 */
async function activate(context) {
  outputChannel = vscode.window.createOutputChannel(CLIENT_NAME);
  context.subscriptions.push(
    outputChannel,
    vscode.commands.registerCommand("aiwf.restartServer", restartClient),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration("aiwf.server")) {
        restartClient();
      }
    }),
  );
  await startClient();
}

/** Called by VS Code on shutdown. */
function deactivate() {
  return stopClient();
}

module.exports = { activate, deactivate };

// The netspec extension: starts `netspec lsp` for YAML files. The server decides what is a spec (a top-level
// `layers:` key or a netspec modeline) and stays silent on every other YAML file.
"use strict";

const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? "";
  const [command, ...args] = vscode.workspace
    .getConfiguration("netspec")
    .get("server.command", ["netspec", "lsp"])
    .map((part) => part.replaceAll("${workspaceFolder}", folder));
  client = new LanguageClient(
    "netspec",
    "netspec",
    { command, args },
    {
      documentSelector: [
        { scheme: "file", language: "yaml" },
        { scheme: "untitled", language: "yaml" },
      ],
    },
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };

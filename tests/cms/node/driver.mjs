// Runs the Node sample of docs/cms-integration.md (its file is argv[2]) for tests/cms: one JSON
// command a line on stdin, one JSON answer a line on stdout.
//   {"token": "<JWT>"}   → {"perks": [...] | null}   readerPerks(token), as a page view would
//   {"advance": seconds} → {"ok": true}              the clock the key-set cache reads moves on
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";

let offset = 0;
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + offset;

const sample = await import(pathToFileURL(process.argv[2]).href);
for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line);
  if ("advance" in command) {
    offset += command.advance * 1000;
    console.log(JSON.stringify({ ok: true }));
  } else {
    const perks = await sample.readerPerks(command.token);
    console.log(JSON.stringify({ perks: perks ?? null }));
  }
}

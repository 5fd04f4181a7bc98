// Verifies the requests the mock destination recorded (its /_mock/requests.jsonl,
// one JSON object per line on stdin) with the libraries receivers use:
//
//   node verify.mjs standard-webhooks SECRET [--tamper]
//       new Webhook(SECRET).verify(body, headers) of the `standardwebhooks` package
//   node verify.mjs hmac-sha256-hex SECRET HEADER [--tamper]
//       verify(SECRET, body, headers[HEADER]) of `@octokit/webhooks-methods` (GitHub's)
//
// --tamper appends a space to each body first (the same JSON, other bytes), which
// the libraries must reject. Prints "SEQ<TAB>verified" or "SEQ<TAB>rejected: WHY"
// per request, for COPY ... FROM PROGRAM (sql/signed_webhooks.sql).
import { createInterface } from "node:readline";
import { Webhook } from "standardwebhooks";
import { verify } from "@octokit/webhooks-methods";

const [scheme, secret, ...rest] = process.argv.slice(2);
const tamper = rest.includes("--tamper");
const header = rest.find((arg) => arg !== "--tamper");

async function check(request) {
  const body = tamper ? request.body + " " : request.body;
  if (scheme === "standard-webhooks") {
    // The mock records header names lower-cased, as the library looks them up.
    new Webhook(secret).verify(body, request.headers);
    return "verified";
  }
  if (scheme === "hmac-sha256-hex") {
    const signature = request.headers[header.toLowerCase()];
    if (signature === undefined) return `rejected: no ${header} header`;
    return (await verify(secret, body, signature)) ? "verified" : "rejected: signature does not match";
  }
  throw new Error(`unknown scheme ${scheme}`);
}

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === "") continue;
  const request = JSON.parse(line);
  let verdict;
  try {
    verdict = await check(request);
  } catch (error) {
    if (String(error.message).startsWith("unknown scheme")) throw error;
    verdict = `rejected: ${error.message}`;
  }
  console.log(`${request.seq}\t${verdict}`);
}

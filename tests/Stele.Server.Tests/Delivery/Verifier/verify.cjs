// Verifies one captured webhook with the reference Standard Webhooks library (npm standardwebhooks).
// Usage: node verify.cjs <request.json>, where the file holds {"secret": "whsec_…", "headers": {…},
// "bodyBase64": "…"}. NODE_PATH must point at the node_modules folder that holds standardwebhooks.
// Prints "verified" and exits 0, or prints the library's error and exits 1.
"use strict";
const fs = require("fs");
const { Webhook } = require("standardwebhooks");

const request = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const body = Buffer.from(request.bodyBase64, "base64");
try {
  new Webhook(request.secret).verify(body, request.headers, { jsonParse: false });
  console.log("verified");
} catch (error) {
  console.log(`${error.name}: ${error.message}`);
  process.exit(1);
}

// Runs the reference page's Postman collection item, as written, with newman.
// Usage: node newman_run.js ITEM_FILE BASE_URL TOKEN [WEBINAR_ID]
// ITEM_FILE is postman_item.json beside this script: the page's item, kept verbatim (README.md).
// Only the page's own variables are filled in: {{baseUrl}}, and the :webinarId path variable
// when WEBINAR_ID is given. The item's `auth: {type: oauth2}` carries no token, so a
// collection-level pre-request script adds "Authorization: Bearer TOKEN" (as Postman does once
// a user has fetched a token). Prints one JSON line per response.
const fs = require('fs');
const newman = require('newman');

const [itemFile, baseUrl, token, webinarId] = process.argv.slice(2);
const item = JSON.parse(fs.readFileSync(itemFile, 'utf8'));
if (webinarId) {
  item.request.url.variable.find((v) => v.key === 'webinarId').value = webinarId;
}
const collection = {
  info: {
    name: 'Update Live Stream Status (reference page)',
    schema: 'https://schema.getpostman.com/json/collection/v2.1.0/collection.json',
  },
  item: [item],
  event: [{
    listen: 'prerequest',
    script: {
      type: 'text/javascript',
      exec: ["pm.request.headers.upsert({key: 'Authorization', value: 'Bearer ' + pm.variables.get('bearerToken')});"],
    },
  }],
};

newman.run({
  collection,
  envVar: [{ key: 'baseUrl', value: baseUrl }, { key: 'bearerToken', value: token }],
  reporters: [],
}).on('request', (err, args) => {
  if (err) {
    console.log(JSON.stringify({ error: err.message }));
    return;
  }
  const headers = {};
  args.request.headers.each((h) => { headers[h.key.toLowerCase()] = h.value; });
  console.log(JSON.stringify({
    method: args.request.method,
    url: args.request.url.toString(),
    contentType: headers['content-type'] || null,
    status: args.response.code,
    body: args.response.stream ? args.response.stream.toString() : '',
  }));
}).on('done', (err) => {
  process.exit(err ? 2 : 0);
});

"""The reference page's PureBasic Chilkat program, translated line for line to Python (chilkat2).

Only what the page leaves to the reader is a parameter: host, port, token and the webinar id
in the path (``python chilkat_update_live_stream_status.py HOST PORT PATH TOKEN [SETTINGS]``).
SETTINGS defaults to the page's own value.
"""

import sys

import chilkat2

PAGE_SETTINGS = (
    "start{"
    + chr(34)
    + "active_speaker_name"
    + chr(34)
    + ":false,"
    + chr(34)
    + "display_name"
    + chr(34)
    + ":"
    + chr(34)
    + "reprehender"
    + chr(34)
    + "}"
)


def chilkat_example(host: str, port: int, path: str, token: str, settings: str) -> int:
    # This example assumes the Chilkat API to have been previously unlocked.
    glob = chilkat2.Global()
    glob.UnlockBundle("Anything for 30-day trial")

    http = chilkat2.Http()

    req = chilkat2.HttpRequest()
    req.HttpVerb = "PATCH"
    req.Path = path
    req.ContentType = "multipart/form-data"
    req.AddParam("action", "start")

    req.AddParam("settings", settings)

    req.AddHeader("Authorization", "Bearer " + token)

    resp = http.SynchronousRequest(host, port, False, req)
    if not http.LastMethodSuccess:
        print(http.LastErrorText)
        return 1

    resp_status_code = resp.StatusCode
    print("Response Status Code = " + str(resp_status_code))
    if resp_status_code != 204:
        print("Response Header:")
        print(resp.Header)
        print("Response Body:")
        print(resp.BodyStr)
        print("Failed.")
        return 1

    print("Success.")
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    settings = args[4] if len(args) > 4 else PAGE_SETTINGS
    sys.exit(chilkat_example(args[0], int(args[1]), args[2], args[3], settings))

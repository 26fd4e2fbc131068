"""Count botocore API calls of a bench subprocess and dump them at exit.

Active only when BENCH_BOTOCORE_CALLS_JSON names the output file, so other
Python processes that inherit PYTHONPATH are untouched. The counts cross-check
the proxy's, which remain the numbers reported (they also see non-Python tools
and the AWS CLI, which ships its own copy of botocore).
"""

import atexit
import json
import os

_OUTPUT = os.environ.get("BENCH_BOTOCORE_CALLS_JSON")

if _OUTPUT:
    from s3local.calls import BotocoreCalls

    _calls = BotocoreCalls().start()

    def _dump() -> None:
        data = {
            "operations": dict(_calls.operations),
            "failures": dict(_calls.failures),
            "attempts": _calls.attempts,
        }
        with open(_OUTPUT, "w") as out:
            json.dump(data, out, indent=1, sort_keys=True)

    atexit.register(_dump)

"""The child process that runs programs, one after another, each in a fresh runtime.

Why a child: a program may crash the process (a signal, an abort) or hang it; the parent
(supervisor.py) sees that and blames the program that was announced last.

Protocol: the parent writes one JSON request per line to the request pipe; for each, the
child writes ``{"event": "start", "id": ...}`` to the response pipe before it runs the program
and ``{"event": "done", "id": ..., "outcome": ...}`` after it.  Standard input and output are
/dev/null, so that Lua's ``io`` functions and ``print`` cannot disturb the protocol; standard
error (a file the parent reads) gets a marker line per program, then whatever the program or a
crash prints.  A program that runs longer than the timeout makes faulthandler dump every
thread's stack and exit the child, so a hang comes with the place where it hangs.

Usage (by supervisor.py): ``python worker.py REQUEST_FD RESPONSE_FD TIMEOUT_SECONDS``
"""

import faulthandler
import json
import os
import resource
import sys

import toolbox

#: Address space of a child.  A program that makes Rust allocate terabytes (or a few
#: gigabytes) then fails fast instead of eating the machine.
ADDRESS_SPACE_LIMIT = 6 << 30


def main():
    request_fd, response_fd, timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE_LIMIT, ADDRESS_SPACE_LIMIT))
    faulthandler.enable(all_threads=True)
    requests = os.fdopen(request_fd, "r")
    responses = os.fdopen(response_fd, "w", buffering=1)

    def send(message):
        responses.write(json.dumps(message) + "\n")
        responses.flush()

    for line in requests:
        request = json.loads(line)
        print(f"=== program {request['id']}", file=sys.stderr, flush=True)
        send({"event": "start", "id": request["id"]})
        faulthandler.dump_traceback_later(timeout, exit=True)
        outcome = toolbox.run_and_collect(request["program"])
        faulthandler.cancel_dump_traceback_later()
        send({"event": "done", "id": request["id"], "outcome": outcome})


if __name__ == "__main__":
    main()

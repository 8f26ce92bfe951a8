"""The search: hypothesis generates programs for one flavour until the time is up, and shrinks
each new kind of failure to a minimal program.

Every generated program runs in a child process (supervisor.Runner).  A confirmed failure
whose signature (failure.py) was not seen before becomes the shrink target: hypothesis then
only counts programs failing with that same signature as failing, and reduces the program.
When shrinking is done (or its time is up), the minimal program is recorded as a finding and
the search goes on with the next seed, the known signature now counted as a repeat.  So one
bug that is easy to hit does not hide the others.

Runs are deterministic for a seed: the same seed and flavour generate the same programs (as
long as the outcomes are the same), so ``--seed`` replays a run.
"""

import collections
import dataclasses
import time
import warnings

import grammar
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis.errors import HypothesisWarning

#: Shrinking one failure may take this long at most (each attempt is a child process, and a
#: hang costs a whole timeout).
SHRINK_SECONDS = 30.0


class TimeUp(BaseException):
    """Ends a hypothesis run when the search's time is up (not a test failure)."""


class Found(Exception):
    """Raised in the hypothesis test for a program that fails with the target signature."""


@dataclasses.dataclass
class Finding:
    """A kind of failure: its first and its smallest program."""

    signature: str
    result: object  # supervisor.Result of the smallest program
    program: object  # program.Program, the smallest
    first_program: object
    found_after_seconds: float
    found_after_programs: int
    origin: str  # "seed <name>" or "generated (seed N)"
    repeats: int = 0


@dataclasses.dataclass
class Statistics:
    programs: int = 0
    seconds_running: float = 0.0
    outcomes: collections.Counter = dataclasses.field(default_factory=collections.Counter)


class Search:
    """Searches one flavour; `findings` collects the failures by signature."""

    def __init__(self, runner, flavour, seed, use_seeds=True, log=print):
        self.runner = runner
        self.flavour = flavour
        self.seed = seed
        self.use_seeds = use_seeds
        self.log = log
        self.findings = {}
        self.unconfirmed = []
        self.statistics = Statistics()
        self.started = time.monotonic()
        self.cache = {}

    def run_program(self, program):
        """Runs a program (results of failing ones are cached); counts the outcome."""
        key = program.key()
        if key in self.cache:
            return self.cache[key]
        result = self.runner.run(program)
        self.statistics.programs += 1
        self.statistics.seconds_running += result.seconds
        if result.failure is None:
            self.statistics.outcomes[result.outcome] += 1
            return result
        self.statistics.outcomes[result.failure.kind] += 1
        self.cache[key] = result
        if not result.confirmed:
            self.unconfirmed.append((program, result))
            self.log(
                f"  [{self.flavour}] {result.failure.summary()} after {len(result.history)} "
                "programs in the same child; not reproduced alone"
            )
        return result

    def run_seeds(self, seed_programs):
        """Runs the seed programs (by name); their failures become findings."""
        for name, program in seed_programs.items():
            result = self.run_program(program)
            if result.failure is not None and result.confirmed:
                self.record(result, program, program, f"seed '{name}'")

    def record(self, result, program, first_program, origin):
        signature = result.failure.signature
        if signature in self.findings:
            self.findings[signature].repeats += 1
            return
        self.findings[signature] = Finding(
            signature=signature,
            result=result,
            program=program,
            first_program=first_program,
            found_after_seconds=time.monotonic() - self.started,
            found_after_programs=self.statistics.programs,
            origin=origin,
        )
        self.log(f"  [{self.flavour}] found by {origin}: {signature}")

    def generate(self, deadline):
        """Generates programs until `deadline` (time.monotonic()); one hypothesis run per
        new signature found, each with the next seed."""
        run_seed = self.seed
        while time.monotonic() < deadline:
            outcome = self.hypothesis_run(run_seed, deadline)
            if outcome is None:
                return
            run_seed += 1

    def hypothesis_run(self, run_seed, deadline):
        """One hypothesis run; returns None when the time is up, else the signature found."""
        target = {}

        @settings(
            database=None,
            max_examples=10**9,
            deadline=None,
            derandomize=False,
            phases=[Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
            verbosity=Verbosity.quiet,
            report_multiple_bugs=False,
            print_blob=False,
        )
        @hypothesis_seed(run_seed)
        @given(grammar.programs(self.flavour, self.use_seeds))
        def check(program):
            now = time.monotonic()
            if not target:
                if now >= deadline:
                    raise TimeUp
            elif now >= target["shrink_until"] and program.key() not in self.cache:
                return  # shrinking is over: new candidates do not count
            result = self.run_program(program)
            if result.failure is None or not result.confirmed:
                return
            signature = result.failure.signature
            if not target:
                if signature in self.findings:
                    self.findings[signature].repeats += 1
                    return
                target.update(
                    signature=signature,
                    first=program,
                    shrink_until=min(now + SHRINK_SECONDS, max(deadline, now + 10.0)),
                )
                self.log(f"  [{self.flavour}] new failure, shrinking: {signature}")
            if signature == target["signature"]:
                raise Found(program)

        try:
            with warnings.catch_warnings():
                # (Reprs of long programs: hypothesis warns that they are large.)
                warnings.simplefilter("ignore", HypothesisWarning)
                check()
        except TimeUp:
            return None
        except Found as found:
            program = found.args[0]
            self.record(
                self.cache[program.key()],
                program,
                target["first"],
                f"generated (hypothesis seed {run_seed})",
            )
            return target["signature"]
        return None

"""The rounds of a benchmark script, as its RES array hands them over: one
"WHAT,NAME,ROUND=VALUE" line each. Medians over the rounds, and ratios as
the median of each round's ratio (these VMs drift between rounds, so two
paths are compared within a round only)."""
import statistics


class Rounds:
    def __init__(self, kv):
        self.runs = {}  # (what, name) -> {round: value}
        for line in kv.split("\n"):
            k, v = line.split("=")
            what, name, r = k.split(",")
            self.runs.setdefault((what, name), {})[int(r)] = float(v)
        self.med = {k: statistics.median(v.values()) for k, v in self.runs.items()}

    def ratio(self, what, a, b):
        """a over b, the median over the rounds both ran."""
        ra, rb = self.runs[(what, a)], self.runs[(what, b)]
        return statistics.median(ra[r] / max(rb[r], 1e-9) for r in ra if r in rb)

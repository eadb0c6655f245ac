"""aiwf_loop.py: feedback-loop decisions and `stop ... when` rules.

`LoopMixin` is the part of `aiwf_task.Runtime` behind the `loop` and `stop` commands and
the stop rules a running task is watched with: whether iteration K+1 of a loop runs
(`until`/`while`, never beyond `max_iterations`) and the values it carries into it,
recorded in RUN/loops/L/iK.json, and whether a task's outputs so far satisfy one of its
phase's stop rules. Values come from aiwf_values.py through `self`.
"""

if __package__:  # imported as aiwfc_backends.runtime.<module> (aiwfc's own tools and tests)
    from .aiwf_base import TaskError, now, write_json
else:  # beside aiwf_task.py in an artefact tree: its directory is sys.path[0]
    from aiwf_base import TaskError, now, write_json

__all__ = ["LoopMixin"]


class LoopMixin:
    """Runtime's loop steps and stop rules (see the module doc)."""

    def loop_step(self, loop: str, k: int) -> bool:
        """Decides whether iteration k+1 of `loop` runs and records it (see `loop`)."""
        lp = self.spec.loop(loop)
        first = lp["phases"][0] if lp["phases"] else None
        R = self.resolver(first, k, {"project": str(self.spec.project), "iteration": k})
        value = None
        if lp.get("condition") is not None:
            value = self.spec.evaluate(lp["condition"], R)
        if lp["kind"] == "until" and value:
            go, reason = False, "the `until` condition holds"
        elif lp["kind"] == "while" and not value:
            go, reason = False, "the `while` condition no longer holds"
        elif k + 1 >= lp["max_iterations"]:
            go, reason = False, f"max_iterations ({lp['max_iterations']}) reached"
        else:
            go, reason = True, ("the `until` condition does not hold yet" if lp["kind"] == "until" else
                                "the `while` condition holds" if lp["kind"] == "while" else "no condition")
        carried = {}
        if go:
            for c in lp.get("carries", []):
                carried[c["target"]] = self.spec.evaluate(c, self.resolver(c["phase"], k, {
                    "project": str(self.spec.project), "iteration": k}))
        write_json(self.run / "loops" / loop / f"i{k}.json",
                   {"loop": loop, "iteration": k, "kind": lp["kind"],
                    "condition": (lp.get("condition") or {}).get("text"), "value": value, "continue": go,
                    "reason": reason, "max_iterations": lp["max_iterations"], "carried": carried, "time": now()})
        return go

    def stop_rule(self, loop: str, k: int, phase: str, index: int) -> "dict | None":
        lp = self.spec.loop(loop)
        ph = self.spec.phase(phase)
        rules = [r for r in lp.get("stops", []) if r["phase"] == phase]
        items = self.items(phase, k, write=False)
        local = {"project": str(self.spec.project), "index": index, "iteration": k}
        if ph.get("foreach") is not None and index < len(items):
            local[ph["foreach"]["var"]] = items[index]
        d = self.task_dir(phase, k, index)
        # the task's own values, bound as run_task binds them, so that an output whose path
        # names an input is looked for where the task wrote it
        R = self.resolver(phase, k, local)
        self.bind_inputs(phase, ph, k, R, local, strict=False)
        names = self.output_names(ph, R, local, strict=False)
        return self.must_stop(ph, phase, k, local, d, names, rules)

    def must_stop(self, ph, phase, k, local, d, names, rules) -> "dict | None":
        """The first stop rule that holds on the task's outputs so far, or None."""
        own = self.read_outputs(ph, d, names, strict=False)
        for rule in rules:
            try:
                if self.spec.evaluate(rule, self.resolver(phase, k, dict(local, **own), own=own)):
                    return rule
            except TaskError:
                continue  # the values the rule reads are not written yet
        return None

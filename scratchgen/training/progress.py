"""Progress reporting: a tqdm bar on a terminal, plain lines otherwise, nothing with --quiet."""
import sys
import time


def format_losses(losses):
    return " ".join(f"{k}={v:.4g}" for k, v in losses.items())


class Progress:
    def __init__(self, total, start=0, quiet=False, stream=None, lines=20):
        self.total, self.start, self.quiet = total, start, quiet
        self.stream = stream or sys.stderr
        self.began = time.perf_counter()
        self.bar = None
        # plain mode prints about `lines` lines per run
        self.every = max(1, (total - start) // lines)
        if not quiet and getattr(self.stream, "isatty", lambda: False)():
            from tqdm import tqdm

            self.bar = tqdm(total=total, initial=start, file=self.stream, unit="step",
                            dynamic_ncols=True)

    def steps_per_second(self, step):
        elapsed = time.perf_counter() - self.began
        return (step - self.start) / elapsed if elapsed > 0 else 0.0

    def update(self, step, losses):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(format_losses(losses), refresh=False)
        elif step % self.every == 0 or step == self.total or step == self.start + 1:
            print(f"step {step}/{self.total}  {format_losses(losses)}  "
                  f"{self.steps_per_second(step):.1f} steps/s", file=self.stream, flush=True)

    def message(self, text):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(text, file=self.stream)
        else:
            print(text, file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class StageProgress:
    """The `progress(label, done, total)` callback that evaluate() and sample() report to: a
    tqdm bar per stage on a terminal, a few plain lines per stage otherwise (about every
    quarter), nothing when quiet."""

    def __init__(self, quiet=False, stream=None, prefix=""):
        self.quiet, self.stream, self.prefix = quiet, stream or sys.stderr, prefix
        self.tty = getattr(self.stream, "isatty", lambda: False)()
        self.label, self.bar, self.shown = None, None, -1

    def __call__(self, label, done, total):
        if self.quiet:
            return
        if label != self.label:
            self.close()
            self.label, self.shown = label, -1
            if self.tty:
                from tqdm import tqdm
                self.bar = tqdm(total=total, desc=self.prefix + label, file=self.stream,
                                dynamic_ncols=True, leave=False)
        if self.bar is not None:
            self.bar.update(done - self.bar.n)
        else:
            quarter = 4 * done // max(total, 1)
            if quarter > self.shown:
                self.shown = quarter
                print(f"{self.prefix}{label}: {done}/{total}", file=self.stream, flush=True)
        if done >= total:
            self.close()

    def close(self):
        if self.bar is not None:
            self.bar.close()
        self.label, self.bar = None, None

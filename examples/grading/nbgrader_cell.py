# An nbgrader-style autograded test cell (paste it into a cell marked "Autograder tests" with
# its points): it fails with the diagnosis and the fix as the message, which nbgrader shows in
# the feedback beside the points.
import convtrace

result = convtrace.check(Conv2D)  # noqa: F821 (the class is the student's, from an earlier cell)
assert result.passed, result.to_gradescope()["output"]

# An Otter-Grader test file (OK format): put it in the assignment's tests/ folder as conv2d.py.
# The student's notebook defines Conv2D in a cell; this test grades it with convtrace, in a
# sandbox, and on failure the student reads the diagnosis and its fix, not only "failed".
OK_FORMAT = True

test = {
    "name": "conv2d",
    "points": 10,
    "suites": [
        {
            "cases": [
                {
                    "code": r"""
>>> import convtrace
>>> result = convtrace.check(Conv2D, lang="es")
>>> result.passed or print(result.to_gradescope()["output"])
True
""",
                    "hidden": False,
                    "locked": False,
                }
            ],
            "scored": True,
            "setup": "",
            "teardown": "",
            "type": "doctest",
        }
    ],
}

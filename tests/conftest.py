import os
import sys
from pathlib import Path

# Let test modules import their shared support modules (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402

# The course site's tests build the whole site (longer than `make test`'s budget allows): `make test-site` runs
# them, and says so by setting KIT_TEST_SITE=1; `make test` leaves them out and says so in its header.
SITE_TESTS = "test_site.py"
if os.environ.get("KIT_TEST_SITE") != "1":
    collect_ignore = [SITE_TESTS]


def pytest_report_header(config):
    if os.environ.get("KIT_TEST_SITE") != "1":
        return f"tests/{SITE_TESTS} left out: the course site's tests run with `make test-site`"


@pytest.fixture(scope="module")
def lesson(request):
    """The lesson named by the test module's ``LESSON``, run once (grader tests); ``ALSO`` adds cells to run."""
    from grading_support import LessonRun

    return LessonRun(request.module.LESSON, also=getattr(request.module, "ALSO", ()))


@pytest.fixture
def learner(lesson):
    """A fresh copy of the lesson's state, as a learner has it when they reach the exercises."""
    return lesson.learner()

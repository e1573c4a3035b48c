import sys
from pathlib import Path

# Let test modules import their shared support modules (tests/ is not a package).
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def lesson(request):
    """The lesson named by the test module's ``LESSON``, run once (grader tests); ``ALSO`` adds cells to run."""
    from grading_support import LessonRun

    return LessonRun(request.module.LESSON, also=getattr(request.module, "ALSO", ()))


@pytest.fixture
def learner(lesson):
    """A fresh copy of the lesson's state, as a learner has it when they reach the exercises."""
    return lesson.learner()

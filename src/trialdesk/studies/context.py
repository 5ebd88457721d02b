"""Template context: the study and what the signed-in user may do in it."""

from trialdesk.studies.access import NO_ACCESS, study_access
from trialdesk.studies.services import current_study


def study_context(request):
    study = current_study()
    if study is None:
        return {"study": None, "access": NO_ACCESS}
    return {"study": study, "access": study_access(request.user, study)}

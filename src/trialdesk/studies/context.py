"""Template context: the study and what the signed-in user may do in it."""

from trialdesk.studies.access import NO_ACCESS, Permission, may_read_analysis, study_access
from trialdesk.studies.models import Role
from trialdesk.studies.services import studies_of


def study_context(request):
    study = getattr(request, "study", None)
    access = study_access(request.user, study) if study is not None else NO_ACCESS
    return {
        "study": study,
        "access": access,
        # {% if can.sign %}: what the user may do somewhere in the study (menus, buttons).
        "can": {permission.value: access.can(permission) for permission in Permission},
        # the analysis report in the menu: the roles that read the whole study's analysis
        "reads_analysis": may_read_analysis(access),
        "reads_safety_report": may_read_analysis(access, safety_only=True),
        "role_labels": [Role(role).label for role in sorted(access.roles)],
        # The menu links to the list of studies when there is more than one to choose from.
        "has_several_studies": bool(
            getattr(request.user, "is_authenticated", False) and studies_of(request.user)[1:2].exists()
        ),
    }

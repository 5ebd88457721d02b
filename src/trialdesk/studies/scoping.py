"""The site-scoped queryset every clinical model uses: ``Model.objects.for_user(user, study)``."""

from __future__ import annotations

from django.db import models


class SiteScopedQuerySet(models.QuerySet):
    """Subclasses' models declare ``site_path``: the lookup from the model to its Site."""

    def for_user(self, user, study):
        from trialdesk.studies.access import visible_site_ids

        site_path = self.model.site_path
        return self.filter(**{f"{site_path}__in": visible_site_ids(user, study)})

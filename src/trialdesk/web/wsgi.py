"""The WSGI application of trialdesk: `trialdesk serve` runs it under gunicorn
(`trialdesk.cli.server`); any other WSGI server can run it too."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trialdesk.web.settings")
application = get_wsgi_application()

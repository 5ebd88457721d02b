"""The Django project of trialdesk: settings, URLs, WSGI/ASGI."""

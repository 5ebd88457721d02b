"""WhiteNoise, without its warning about a STATIC_ROOT that `collectstatic` never filled.

trialdesk serves its static files from the installed package (WHITENOISE_USE_FINDERS, see
settings); STATIC_ROOT (./static, or TRIALDESK_STATIC_ROOT) is served too once a deployment
has run `manage collectstatic`, and is simply absent otherwise."""

from __future__ import annotations

import os

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware(WhiteNoiseMiddleware):
    def add_files(self, root, prefix=None):
        if root and not self.autorefresh and not os.path.isdir(root):
            return
        super().add_files(root, prefix)

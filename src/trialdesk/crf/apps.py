from django.apps import AppConfig


class CrfConfig(AppConfig):
    name = "trialdesk.crf"
    label = "crf"

    def ready(self):
        from trialdesk.crf import savereads
        from trialdesk.crf.crossrecord import death_reads

        savereads.declare(death_reads)

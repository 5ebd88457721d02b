"""The demonstration trial: a Django-side package above every app (it drives studies,
subjects, crf and the simulator through their services), used by `trialdesk demo`,
the tests and the benchmarks."""

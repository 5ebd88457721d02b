"""Treatment at the bedside: the computed dose validated as a prescription, the infusion recorded against it, and the dosing checks (issue 9)."""

"""SDTM IG 3.4 from a StudySnapshot and its protocol (pure core, never imports Django).

    write_sdtm(snapshot, protocol, folder, formats=("json", "xpt"))  -> SdtmResult

The subject datasets DM, DS, EX, AE, MH, CM, LB, VS, CV (LVEF), PR (transfusions), RS, IE,
DV (the computed deviations), SV and the trial design TS, TA, TE, TV, TI, as CDISC
Dataset-JSON 1.1 (``dm.json``…) and SAS XPORT version 5 (``dm.xpt``…), with ``define.json``
(datasets, variables, labels, types, origins). ``spec`` declares the datasets, ``domains``
builds a subject's rows through the clinical concepts, ``design`` the trial design from the
protocol, ``writer`` streams them to disk.
"""

from trialdesk.exchange.sdtm.spec import DATASETS
from trialdesk.exchange.sdtm.writer import DEFINE, FORMATS, SdtmError, SdtmResult, write_sdtm

__all__ = ["DATASETS", "DEFINE", "FORMATS", "SdtmError", "SdtmResult", "write_sdtm"]

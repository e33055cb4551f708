"""HTTP multi-actor flows (`invoke flow`): the flow file and its loader, the small JSON path evaluator for
captures, exact percentiles and route templates, checkpoint outcomes (known gaps, strict, fixed), the async
runner (a concurrency ramp over one httpx AsyncClient per level) and the report. Nothing here prints or
writes the run directory: procedures/flow hands the results to the run layer."""

"""Path templates whose last parameter is a job id: any text, `/` and line breaks included.

Starlette's `{name:path}` matches `.*`, and `.` stops at a line break: `/jobs/a%0Ab` then matched no route at all
(a 404 before authentication, where `/jobs/ab` was a 401), and `/jobs/abc%0A` matched job `abc`, because the
template's closing `$` also matches before a final line break. `{name:job_id}` matches every character, so such
an id reaches the endpoint whole, after authentication, and is a 404 there like any id no job can have.
"""

from __future__ import annotations

from starlette.convertors import PathConvertor, register_url_convertor


class JobIdConvertor(PathConvertor):
    """`PathConvertor` whose pattern also matches line breaks (`(?s:.*)`)."""

    regex = "(?s:.*)"


register_url_convertor("job_id", JobIdConvertor())

# `/jobs/{job_id}` as a route template: import it, so the convertor is registered before the route is built.
JOB_ID = "{job_id:job_id}"

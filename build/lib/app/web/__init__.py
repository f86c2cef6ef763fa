"""The browser side of jobcost, served by the API process itself: the API docs (`/docs`, `/redoc`) and the
dashboard (`/`). Every script and style sheet comes from an installed package or from `static/`, never a CDN."""

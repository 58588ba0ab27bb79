"""The top of the app: `build_app` (app.py) builds the App with its checks and the pipeline stack, which reuses
the sharing and consumer Stages for every environment and account. What one pipeline can hold is checked in
capacity.py, before anything is written."""

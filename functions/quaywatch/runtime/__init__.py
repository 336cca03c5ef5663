"""Running the functions: settings, the composition roots (Lambda: ``lambda_root``; ``serve``:
``embedded``), reading template.yaml, and the events AWS hands to Lambda."""

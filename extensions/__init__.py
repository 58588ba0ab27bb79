"""Your own workloads in a consumer's stage, a module (or a folder) each, imported here so that it registers.

Start from nightly_export/: a function, deployed in the stage of each consumer that lists `nightly-export` in its
`workloads`, that reads the datasets the consumer is given (its code is beside it, in code/). Copy it, rename the
workload, import the copy below and list the name in the consumer's `workloads` in the config. stacks/extensions.py
says what the stack gives a workload and what the synth checks refuse.
"""

# from extensions import my_workload

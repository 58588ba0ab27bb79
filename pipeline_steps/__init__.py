"""Scripts that the pipeline's own steps run in CodeBuild. Standalone: the standard library and boto3 only,
so a step needs no install of the project. The stacks that define the steps import their contracts."""

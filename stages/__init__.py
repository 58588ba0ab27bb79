"""One cdk.Stage per deployable unit, the same class for every environment and account."""

"""Synth-time checks: cdk-nag's AWS Solutions pack, the quota sizes (limits.py, run by policy_sizes.py) and the CDK's
CloudFormation template validation (template_validation.py), registered once on the App.

On the App because a validation plugin registered in a Stage is given only that Stage's templates (cdk-nag
walks the whole construct tree whatever it is given, but the quota checks read templates), and a Stage nested in
a Stack runs none.
"""

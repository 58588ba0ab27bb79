"""`make local`: rehearse the whole pipeline on emulated AWS accounts with the real CDK CLI."""

"""skyscan: a local SkyDriver-compatible scan service with a HEALPix maximum-likelihood scanner."""

INSERT INTO tenants (id, name) VALUES
  ('db1ad7c6-8e64-46ae-af2d-0a361cf22aa6', 'tenant-jgojx'),
  ('eb7b6ed7-b460-49c1-89c1-3e034fc88753', 'tenant-ozdcp'),
  ('2bfbea79-7c46-4cd2-9b3e-1bff8794df7c', 'tenant-mzqwv'),
  ('856f902c-84b9-47d4-8693-970fb800c823', 'tenant-rkzsj'),
  ('e204f22d-13db-4680-b5b7-7ba6c5b31d20', 'tenant-eaium'),
  ('dbd8b6f2-ae6a-4b8a-812c-b1955642e9fd', 'tenant-ztzoz'),
INSERT INTO integrations (tenant, provider, token) VALUES
  ('4e314e29-ffd0-43e0-8d47-690b65ffba04', 'gitlab', 'glpat-UMHbDLlAJbdro02VRxqg52M6MQpvOm8KdTpyCw.01.120fl1kga'),
  ('2786b2f4-d16e-4680-a970-764d306db70f', 'npm', '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'),
  ('1ebc6a01-41f8-4022-b353-4dc61167049e', 'google', 'AIzaSytQINnELH7OKAombqZbbDoLRkpypPf6IVl'),
  ('f04f7306-ff6b-42ad-9cf7-5839fd9839a5', 'azure', 'HTI7Q~P39qkP9iba7FHztDT3pPpDFiyepWP3E3Lh'),
  ('8f7face0-8c39-4fce-ab65-704285e6c361', 'dockerhub', 'dckr_pat_BOeBzcUYJysonkC57QS4EwXY1Eh'),

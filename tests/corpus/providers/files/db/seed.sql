INSERT INTO tenants (id, name) VALUES
  ('188142a9-e34f-42b0-ab16-4dbbfe64bde5', 'tenant-mgcrq'),
  ('7d3f88a6-c846-4583-939b-dbd3211e5a5c', 'tenant-gzlhj'),
  ('ce2db1ad-7c68-4648-aae4-f2d0a361cf22', 'tenant-kwgij'),
  ('6e9eb7b6-ed7b-4607-9c18-9c13e034fc88', 'tenant-ftyzq'),
  ('30e32f2b-fbea-497c-a6ac-d26b3e1bff87', 'tenant-svenp'),
  ('7c7c856f-902c-44b9-b7d4-6693970fb800', 'tenant-ixcvd'),
INSERT INTO integrations (tenant, provider, token) VALUES
  ('8e945cd0-b42b-4a49-81ae-0f4ca60a83f4', 'grafana', 'glsa_FAI0yth4fFEbp7tCgl48yoHkaWKM3Ql6_2afac21f'),
  ('c6a0141f-8802-4035-94dc-61167049ef16', 'dynatrace', 'dt0s16.KIS3NBGZ.JWMQXVME3TVUZEC4QE5UYPAIQ7424GBZVZWDJ5HCJ5ET762AAH4AR3IPMTBWMK76'),
  ('d299cb46-039e-4283-b4dd-7b701c75ea9a', 'sendgrid', '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'),
  ('a95be88b-6ac5-43be-9abd-76c68bae0fa1', 'anthropic', 'sk-ant-api03-jD8CXn5HVUfvp9PelA-DynRPmLdEZy2xJ7OMCAujR7DkePnRQP39qkP9iba7FHztDT3pPpDFiyepWP3E3Lh8BR9dNCY8-AA'),
  ('30ca77ef-b674-48be-b9ff-d152c5d3cd0f', 'vault', 'hvr.9UKru28ahJU_9nEvx1PgiQbQFHE64qhT-deMaxtGs5_0rWm7FgnQ9DXneIb-BSJeYz97j4TioK4ZxIa5APVjIp4eq41'),

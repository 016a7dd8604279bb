INSERT INTO tenants (id, name) VALUES
  ('7c963043-0472-472b-bb1d-6719f83aa683', 'tenant-vwxai'),
  ('c01c8cc0-a5aa-40f8-9442-1f4f8461fdf9', 'tenant-yxokd'),
  ('d734a2a5-b4b2-4280-ab49-a56b3cccf9c3', 'tenant-hziwn'),
  ('42b6082d-c081-4558-bb7f-e500bd5d509c', 'tenant-xczva'),
  ('aa7146f0-93fb-449f-a169-f2e44f4e386f', 'tenant-tbbun'),
  ('efe6a2fd-07e5-42fc-a586-ea588e5e931f', 'tenant-mghbl'),
INSERT INTO integrations (tenant, provider, token) VALUES
  ('378696bd-f102-423e-9ce5-f45c42409c39', 'grafana', 'glsa_m2ZRH5ahGT5Hd6cv3fKIjzg4oiBO9ia9_d439165c'),
  ('4092ad17-013f-4a57-96e3-09252c3c3c4f', 'shopify', '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'),
  ('94f71213-881f-40c2-8fff-7da782acb12c', 'sendgrid', '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'),
  ('2a43fc25-63ee-4819-97f7-28d927941979', 'vault', 'hvb.AAAAAQp2tmM78ueXQlYoaO2StrI_rtKJVGPTQHsiHEuFhhoRWJPH4g5ydBedXL8Khs6WzK38NK5AcPyw3_i701pZS9DlDv6teIPd7qOb6rTBOFcgyMDA_3yBZX1Tz7aLrgnolfvTAr9aiVS6YBJmCQm5lgfA'),
  ('56e87262-6e9c-4bbb-9b51-a987cad44ddd', 'atlassian', 'ATATT3xFfGF0a7OLfOIFPxWKoyWNuokFkLoOs9KOezQmID5HIMTQZ6vjVZGvfUFZ1xRq1iUDi72jseyByC6bH5Frdz70hStWXhRan-KV41fNiDdk448avxWM5qFndJLTL3DJz7wu2MZsGz1gvz5LcDsakSQ3C2S8Kn4pGORLBTirBtHD8ppGLzr=0852B83D'),

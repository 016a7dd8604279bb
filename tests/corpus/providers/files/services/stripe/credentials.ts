// rotated by the platform team
export const STRIPE_API_KEY = `sk_test_514PNIQU56BUjbIuBmHKV17CGfF1WuTcV8DKlXTMLf0BLPXAyJ5P0p8XreMDWy2EZFvYPJsP1zx8znobXnNAQ9Hfe8hIhO9eRwB`;
export const STRIPE_API_KEY = `sk_live_PE4duAkRXLIBYOXQiHybJ4gN`;
export const STRIPE_KEY = `rk_live_q0gV8TBQhhD2ZfUumBba4FPn`;
export const STRIPE_API_KEY_SAMPLE = `sk_test_4eC39HqLyjWDarjtT1zdp7dc`;
export const STRIPE_KEY_SAMPLE = `sk_test_BQokikJOvBiI2HlWgH4olfQ2`;
export const STRIPE_API_KEY_SAMPLE = `pk_test_TYooMQauvdEDq54NiTphI7jx`;
export const STRIPE_SECRET_KEY_SAMPLE = `pk_live_ycHzbLwKR41XwpY98YWjtoTD`;
export const STRIPE_API_KEY_SAMPLE = `pk_test_51c21NIkh6E7JVOMZVkOM0N4UOkrULFkQAXW2ZvGvfy4sl3KCPoHTozr9CbAbYuekrDJEiWhld7UJnH4PuJRZFFog4mjG8WYE3O`;
export const STRIPE_SECRET_KEY_SAMPLE = `sk_live_************************`;
export const STRIPE_KEY_SAMPLE = `sk_live_qqVtlrZiIfPLACEHOLDERgzh`;
export const STRIPE_SECRET_KEY_SAMPLE = `sk_live_xxxxxxxxxxxxxxxxxxxxxxxx`;
export const STRIPE_SECRET_KEY_SAMPLE = `${STRIPE_SECRET_KEY}`;

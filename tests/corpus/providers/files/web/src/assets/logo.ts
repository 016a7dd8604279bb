export const logo = 'data:image/png;base64,iVBORw0KGgo/Vo8gp+J7q+HV1ToAw6J6eun+v2Z/RRSGv+RDmfT+1RZSLMpf3DHN0QL8yns12xDUFRpQEuLn7uC0vUSsSExTOyiOKtj6VMN03l83C+mAaD5dGId49OrM1/E=';
export const logo = 'data:image/png;base64,iVBORw0KGgp6oMk/06G7Bco7B1tyRN/8JcpGVGefLLHiM/qTO4+F9nwfdD94AxK8gJ+OeL++sk4E0qaEOADtBEXg9eaZIZDw/SGg2yK9U5QP5aNl7Trg/2FKgn1X2+pA9Ng=';
export const logo = 'data:image/png;base64,iVBORw0KGgqD3VzQ9/ZGQwTBVX8evuHExbRZAsXGtWXczrh9GzfKi0as07ARRtYXgpLFfe5PC0R/qUJ6K5aOzq3HnoVnmf4YEVm2Fr9TY32Jpq54U1Xl2TkWALcCPonLnK8=';
export const logo = 'data:image/png;base64,iVBORw0KGgqbEDSNBdZGhQbwCtIvBPb4+Wr3URkA07ox/Yy3dDFF1eUYqQIq1y+2PQuvyasHLqRkL6Wb5RhCMPL9MApQn4zSPm2Pz7diIIcnZiEQ3R6opF2vhahDRt2HWG4=';

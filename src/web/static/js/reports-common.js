// What the report pages share: the Indonesian names of the states and of the services.

export const REPORT_STATUS = {
  submitted: 'Diterima',
  verified: 'Diverifikasi',
  in_progress: 'Sedang ditindaklanjuti',
  resolved: 'Selesai ditindaklanjuti',
  rejected: 'Ditolak',
  duplicate: 'Duplikat',
  hidden: 'Disembunyikan',
};
